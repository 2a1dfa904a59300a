import sys

from ansinh.nationaldb.popreg.server import main

main(sys.argv[1:])
