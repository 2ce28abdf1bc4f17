from agent.launch import main

main()
