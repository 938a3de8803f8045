using Exchange.Api;

ExchangeApp.Build(args).Run();

/// <summary>The entry point; public so test hosts can name the assembly.</summary>
public partial class Program;
