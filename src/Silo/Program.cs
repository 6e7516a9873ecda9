using FlatLora.Silo;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFlatLoraSilo();
builder.AddGradientExchange();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
app.MapGradientExchange();
app.Run();
