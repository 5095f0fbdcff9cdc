using EmbeddedService;

await EmbeddedServiceApp.Build(args).RunAsync();
