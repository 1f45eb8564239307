from ips_jobs.cli import main

main()
