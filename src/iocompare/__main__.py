from iocompare.cli.main import main

raise SystemExit(main())
