using System.Globalization;
using System.Security.Cryptography;

namespace FlatLora.Api.Services;

/// <summary>Ids the API gives new runs: "exp-20261207-153012-4f2a9c", readable, sortable by time, unguessable enough not to collide.</summary>
public static class RunIds
{
    public static string New(string prefix) =>
        string.Create(CultureInfo.InvariantCulture, $"{prefix}-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}");
}
