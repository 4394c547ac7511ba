from services.dashboard.server import main

main()
