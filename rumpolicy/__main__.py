from rumpolicy.cli import main

raise SystemExit(main())
