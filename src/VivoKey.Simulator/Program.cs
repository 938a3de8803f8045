using VivoKey.Simulator;

SimulatorApp.Build(args).Run();
