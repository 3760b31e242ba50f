def test_import_and_match(compile_one):
    rs = compile_one("    selection:\n        Image|endswith: '\\\\cmd.exe'\n    condition: selection")
    assert [m.rule_id for m in rs.match({"Image": "C:\\Windows\\System32\\CMD.EXE"})] == [
        "00000000-0000-4000-8000-000000000001"]
    assert rs.match({"Image": "C:\\cmd.exe.bak"}) == []
