from gradcli.client import main

main()
