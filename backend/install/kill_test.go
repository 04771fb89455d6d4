package install_test

func stationChildMain(string) int { return 2 }
