from gradcli.app.entry import main

main()
