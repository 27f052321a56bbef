"""python -m gradcheck"""

from .cli import main

main(prog_name="gradcheck")
