using FlatLora.Api.Hosting;
using FlatLora.Silo;
using FlatLora.Trainer.Hardware;

// A CUDA libtorch named by $FLATLORA_LIBTORCH is loaded before anything touches torch.
LibTorchLocator.Preload();

WebApplicationBuilder builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddFlatLoraSilo();
builder.AddGradientExchange();
builder.AddPublicApi();

WebApplication app = builder.Build();
app.MapDefaultEndpoints();
app.MapGradientExchange();
app.MapFlatLoraApi();
app.Run();
