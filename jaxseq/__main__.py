from jaxseq.app.cli import main

raise SystemExit(main())
