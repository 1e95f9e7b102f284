from jaxseq.cli import main

raise SystemExit(main())
