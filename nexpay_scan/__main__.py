from nexpay_scan.cli import run

run()
