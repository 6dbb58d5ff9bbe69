"""The compiler: load -> validate -> expand -> plan -> render -> emit -> write (see build.py)."""
