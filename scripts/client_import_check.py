"""Import every module of a generated Python client; used by scripts/client_check.sh.

    python scripts/client_import_check.py CLIENT_DIR

Exits non-zero (listing each failure) if any module of the generated package does not import.
"""

import importlib
import pkgutil
import sys
import traceback


def main(root: str) -> int:
    sys.path.insert(0, root)
    packages = [module.name for module in pkgutil.iter_modules([root]) if module.ispkg]
    if len(packages) != 1:
        print(f"expected one generated package in {root}, found {packages}")
        return 1
    package = importlib.import_module(packages[0])
    total = failed = 0
    for module in pkgutil.walk_packages(package.__path__, f"{packages[0]}."):
        total += 1
        try:
            importlib.import_module(module.name)
        except Exception:
            failed += 1
            print(f"FAIL {module.name}\n{traceback.format_exc(limit=2)}")
    print(f"generated client: {total} modules, {failed} failed to import")
    return 1 if failed or not total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
