from monogram.cli.main import main

main()
