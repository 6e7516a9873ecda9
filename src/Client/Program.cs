using FlatLora.Client;

return await FlatloraCli.Build().Parse(args).InvokeAsync();
