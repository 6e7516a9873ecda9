using FlatLora.Silo;

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFlatLoraSilo();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
app.Run();
