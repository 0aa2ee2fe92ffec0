"""``python -m nncore lessons [ID ...] [--check] [--json]``: list the lessons, or run them and check them."""

from __future__ import annotations

import json

from nncore.lessons.catalog import LESSONS, check_all, lesson_ids


def add_command(subparsers) -> None:
    p = subparsers.add_parser("lessons", help="list the lessons, or run them and check what they promise",
                              description="Without --check: list the lessons. With --check: run each lesson's "
                                          "variants and check its stated observation; exit code 1 if any fails.")
    p.add_argument("lesson", nargs="*", help="lesson ids to list or check (default: all)")
    p.add_argument("--check", action="store_true", help="run the lessons headless; exit 1 if any lesson fails")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object as the last line (with --check: id -> passed, observation)")
    p.set_defaults(func=cmd_lessons)


def cmd_lessons(a) -> int:
    if not a.check:
        chosen = [LESSONS[i] for i in lesson_ids(a.lesson)]
        if a.json:
            print(json.dumps({v.id: {"title": v.title, "what_to_watch": v.what_to_watch, "expected": v.expected}
                              for v in chosen}))
        else:
            for lesson in chosen:
                print(f"{lesson.id}: {lesson.title}\n    watch: {lesson.what_to_watch}")
        return 0
    results = check_all(a.lesson)
    if a.json:
        print(json.dumps(results))
    else:
        for lesson_id, r in results.items():
            print(f"{'PASS' if r['passed'] else 'FAIL'} {lesson_id}: {r['observation']}", flush=True)
        print(f"{sum(r['passed'] for r in results.values())}/{len(results)} lessons passed")
    return 0 if all(r["passed"] for r in results.values()) else 1
