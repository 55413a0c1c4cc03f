"""Entry point: ``lora-studio`` and ``python -m app``.

This module must stay importable by any Python 3 so that an unsupported interpreter gets a clear
message instead of a SyntaxError deep inside the app.
"""

import sys

SUPPORTED = ((3, 10), (3, 13))


def check_python(version_info=None):
    """Return an error message when the interpreter is outside the supported range, else None."""
    info = version_info or sys.version_info
    current = (info[0], info[1])
    if SUPPORTED[0] <= current <= SUPPORTED[1]:
        return None
    low, high = SUPPORTED
    return ("LoRA Studio needs Python {}.{} to {}.{}; this is Python {}.{} ({}).\n"
            "Install a supported Python and run LoRA Studio with it.").format(
                low[0], low[1], high[0], high[1], current[0], current[1], sys.executable)


def main(argv=None):
    message = check_python()
    if message:
        sys.stderr.write(message + "\n")
        return 2
    from app.cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
