from nexpay_scan.cli import main

raise SystemExit(main())
