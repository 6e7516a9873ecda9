using FlatLora.Abstractions.Cluster;
using FlatLora.Grains.Cluster;

namespace FlatLora.Grains.Tests;

public class GrantNumbersTests
{
    private static List<DeviceInfo> Devices(long lease, string run = "exp-a/1") =>
    [
        new DeviceInfo { Silo = "s", Device = "cpu:0", State = DeviceState.Busy, RunKey = run, Grant = lease },
        new DeviceInfo { Silo = "s", Device = "cpu:1", State = DeviceState.Free },
    ];

    [Fact]
    public void A_job_ending_under_the_devices_grant_frees_it()
    {
        List<DeviceInfo> devices = Devices(lease: 7);
        Assert.True(GrantNumbers.Free(devices, "s/cpu:0", 7));
        Assert.Equal(DeviceState.Free, devices[0].State);
        Assert.Null(devices[0].RunKey);
    }

    [Fact]
    public void A_late_report_from_an_earlier_grant_leaves_the_new_grant_alone()
    {
        List<DeviceInfo> devices = Devices(lease: 8, run: "exp-b/1");
        Assert.False(GrantNumbers.Free(devices, "s/cpu:0", 7));
        Assert.Equal(DeviceState.Busy, devices[0].State);
        Assert.Equal("exp-b/1", devices[0].RunKey);
    }

    [Fact]
    public void Unknown_devices_free_devices_and_unnumbered_grants_are_left_alone()
    {
        List<DeviceInfo> devices = Devices(lease: 0);
        Assert.False(GrantNumbers.Free(devices, "s/cpu:0", 0));   // restored after lost state: the seed run releases it
        Assert.False(GrantNumbers.Free(devices, "s/cpu:1", 5));
        Assert.False(GrantNumbers.Free(devices, "t/cpu:0", 5));
        Assert.Equal(DeviceState.Busy, devices[0].State);
    }

    [Fact]
    public void Grant_numbers_grow_and_stay_ahead_of_numbers_issued_before_a_lost_counter()
    {
        var now = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);
        long first = GrantNumbers.Next(0, now);
        long second = GrantNumbers.Next(first, now);
        Assert.True(second > first);
        long afterLoss = GrantNumbers.Next(0, now.AddSeconds(1));   // counter lost, clock moved on
        Assert.True(afterLoss > second);
    }
}
