using System.Net;
using Microsoft.Extensions.Logging;
using SocketServer.Exec.Internal;
using SocketServer.Exec.Tests.Legacy;

namespace SocketServer.Exec.Tests;

/// <summary>The login gate's rules on a hand-turned clock and a scripted random source: no sockets, no timing.</summary>
public class PreAuthGateTests
{
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Client = IPAddress.Parse("127.0.0.1");

    [Fact]
    public void One_address_gets_at_most_its_share_of_login_slots_and_others_still_get_in()
    {
        var (gate, _, _, _) = Gate(o => o.MaxUnauthenticatedPerSource = 3);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        }

        Assert.Equal(Admission.RefusedPerSource, gate.TryAdmit(Attacker));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Client));
        gate.Released(Attacker);
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.Equal(4, gate.Unauthenticated);
    }

    [Fact]
    public void An_IPv6_slash_64_counts_as_one_source_and_a_mapped_IPv4_as_itself()
    {
        var (gate, _, _, _) = Gate(o => o.MaxUnauthenticatedPerSource = 1);
        Assert.Equal(Admission.Admitted, gate.TryAdmit(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.Equal(Admission.RefusedPerSource, gate.TryAdmit(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(IPAddress.Parse("2001:db8:1:3::1")));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.Equal(Admission.RefusedPerSource, gate.TryAdmit(Attacker.MapToIPv6()));
    }

    [Fact]
    public void Early_drop_rises_linearly_from_the_rate_at_start_to_certain_at_full()
    {
        // start:rate:full = 2:50:4, one connection per address so that only the global rule applies.
        var (gate, _, random, _) = Gate(o =>
        {
            o.EarlyDropStart = 2;
            o.EarlyDropRate = 50;
            o.MaxUnauthenticatedConnections = 4;
        });
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(1)));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(2)));

        // At 2 (start) the drop chance is 50%: a draw of 49 drops, 50 admits.
        random.Draw = 49;
        Assert.Equal(Admission.RefusedEarlyDrop, gate.TryAdmit(Address(3)));
        random.Draw = 50;
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(3)));

        // At 3 it is 75%.
        random.Draw = 74;
        Assert.Equal(Admission.RefusedEarlyDrop, gate.TryAdmit(Address(4)));
        random.Draw = 75;
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(4)));

        // At 4 (full) nothing gets in, whatever the draw.
        random.Draw = 99;
        Assert.Equal(Admission.RefusedEarlyDrop, gate.TryAdmit(Address(5)));
        gate.Authenticated(Address(1));
        random.Draw = 99;
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(5)));
    }

    [Fact]
    public void A_start_at_or_over_full_is_a_plain_cap()
    {
        var (gate, _, random, _) = Gate(o => o.MaxUnauthenticatedConnections = 2);
        random.Draw = 0;
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(1)));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Address(2)));
        Assert.Equal(Admission.RefusedEarlyDrop, gate.TryAdmit(Address(3)));
    }

    [Fact]
    public void A_failure_frees_its_slot_before_the_delay_and_the_delaying_are_bounded_apart()
    {
        var (gate, _, _, _) = Gate(o =>
        {
            o.MaxUnauthenticatedPerSource = 2;
            o.PenaltyFailures = 100;
        });
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.True(gate.Failed(Attacker));
        Assert.True(gate.Failed(Attacker));
        Assert.Equal(0, gate.Unauthenticated);
        Assert.Equal(2, gate.Delaying);

        // The slots are free for new logins; a third failure while two wait is closed without delay.
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.False(gate.Failed(Attacker));
        gate.DelayServed(Attacker);
        Assert.Equal(1, gate.Delaying);
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Attacker));
        Assert.True(gate.Failed(Attacker));

        // A timed-out handshake fails without a delay.
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Client));
        Assert.False(gate.Failed(Client, delay: false));
        Assert.Equal(2, gate.Delaying);
    }

    [Fact]
    public void Failures_past_the_threshold_within_the_window_penalise_the_address_doubling_on_repeat_up_to_the_cap()
    {
        var (gate, clock, _, log) = Gate(o =>
        {
            o.PenaltyFailures = 3;
            o.PenaltyWindow = TimeSpan.FromSeconds(60);
            o.PenaltyDuration = TimeSpan.FromSeconds(30);
            o.MaxPenaltyDuration = TimeSpan.FromSeconds(100);
        });

        // Two failures, then the window passes: the count starts again.
        Fail(gate, Attacker, 2);
        clock.Advance(TimeSpan.FromSeconds(61));
        Fail(gate, Attacker, 2);
        Assert.False(gate.IsPenalised(Attacker));
        Fail(gate, Attacker, 1);
        Assert.True(gate.IsPenalised(Attacker));
        Assert.Equal(Admission.RefusedPenalised, gate.TryAdmit(Attacker));
        Assert.Equal(Admission.Admitted, gate.TryAdmit(Client));

        clock.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(Admission.RefusedPenalised, gate.TryAdmit(Attacker));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(gate.IsPenalised(Attacker));

        // Again: 60 s, then 100 s (the cap), then 100 s.
        foreach (var seconds in new[] { 60, 100, 100 })
        {
            Fail(gate, Attacker, 3);
            clock.Advance(TimeSpan.FromSeconds(seconds - 1));
            Assert.True(gate.IsPenalised(Attacker), $"penalised for {seconds} s");
            clock.Advance(TimeSpan.FromSeconds(1));
            Assert.False(gate.IsPenalised(Attacker), $"penalised for only {seconds} s");
        }

        // After quiet longer than the longest penalty, it starts again from the first.
        clock.Advance(TimeSpan.FromSeconds(101));
        Fail(gate, Attacker, 3);
        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.False(gate.IsPenalised(Attacker));

        Assert.Equal(5, log.Entries.Count(e => e.Id.Id == 113));
        Assert.Contains(log.Entries, e => e.Id.Id == 113 && e.Level == LogLevel.Warning && e.Message.Contains("127.0.0.2", StringComparison.Ordinal));
    }

    [Fact]
    public void Refusals_are_logged_once_per_interval_with_a_count_not_per_connection()
    {
        var (gate, clock, _, log) = Gate(o =>
        {
            o.PenaltyFailures = 1;
            o.MaxUnauthenticatedPerSource = 1;
        });
        Fail(gate, Attacker, 1);
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(Admission.RefusedPenalised, gate.TryAdmit(Attacker));
        }

        Assert.Single(log.Entries, e => e.Id.Id == 113);
        Assert.DoesNotContain(log.Entries, e => e.Id.Id == 114);
        clock.Advance(PreAuthGate.LogInterval);
        Assert.Equal(Admission.RefusedPenalised, gate.TryAdmit(Attacker));
        Assert.Contains("1001", Assert.Single(log.Entries, e => e.Id.Id == 114).Message, StringComparison.Ordinal);

        Assert.Equal(Admission.Admitted, gate.TryAdmit(Client));
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(Admission.RefusedPerSource, gate.TryAdmit(Client));
        }

        Assert.Single(log.Entries, e => e.Id.Id == 112);
    }

    [Fact]
    public void An_exempt_address_skips_the_per_source_cap_and_the_penalties_but_not_the_global_cap()
    {
        var (gate, _, random, log) = Gate(o =>
        {
            o.PreAuthExempt.Add("127.0.0.0/31");
            o.MaxUnauthenticatedPerSource = 2;
            o.PenaltyFailures = 3;
            o.MaxUnauthenticatedConnections = 6;
            o.EarlyDropStart = 6;
        });
        var exempt = IPAddress.Parse("127.0.0.1");
        Assert.True(gate.IsExempt(exempt));
        Assert.True(gate.IsExempt(exempt.MapToIPv6()));
        Assert.False(gate.IsExempt(Attacker));

        // Failures far past the threshold: never penalised; Attacker, not exempt, is at the third.
        Fail(gate, exempt, 20);
        Fail(gate, Attacker, 3);
        Assert.False(gate.IsPenalised(exempt));
        Assert.True(gate.IsPenalised(Attacker));
        Assert.DoesNotContain(log.Entries, e => e.Id.Id == 113 && e.Message.Contains("127.0.0.1", StringComparison.Ordinal));

        // More logins at once than one address may have: the exempt one gets them, up to the global cap.
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal(Admission.Admitted, gate.TryAdmit(exempt));
        }

        random.Draw = 0;
        Assert.Equal(Admission.RefusedEarlyDrop, gate.TryAdmit(exempt));
        Assert.Equal(6, gate.Unauthenticated);

        // Its outcomes give the slots back; the failure delay is bounded in all.
        gate.Authenticated(exempt);
        gate.Released(exempt);
        Assert.True(gate.Failed(exempt));
        Assert.Equal(3, gate.Unauthenticated);
        Assert.Equal(1, gate.Delaying);
        gate.DelayServed(exempt);
        Assert.Equal(0, gate.Delaying);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("10.0.0.0/8", true)]
    [InlineData("::1", true)]
    [InlineData("2001:db8::/32", true)]
    [InlineData("", false)]
    [InlineData("abc", false)]
    [InlineData("-5", false)]
    [InlineData("99999999999", false)]
    [InlineData("5", false)]
    [InlineData("10.1", false)]
    [InlineData("10.0.0.0/33", false)]
    [InlineData("10.1.2.3/8", false)]
    [InlineData("127.0.0.1/", false)]
    public void An_exempt_entry_is_an_address_or_a_network_as_plainly_written(string entry, bool valid)
    {
        Assert.Equal(valid, ExecServerOptions.TryParseNetwork(entry, out _));
        if (!valid)
        {
            var options = new ExecServerOptions { Port = 0, StateDirectory = Path.Combine(Path.GetTempPath(), "sockserv-never-made") };
            options.PreAuthExempt.Add(entry);
            var e = Assert.Throws<SocketServerException>(() => ExecServer.Create(options));
            Assert.Contains("exempt list", e.Message, StringComparison.Ordinal);
        }
    }

    private static void Fail(PreAuthGate gate, IPAddress address, int times)
    {
        for (var i = 0; i < times; i++)
        {
            Assert.Equal(Admission.Admitted, gate.TryAdmit(address));
            if (gate.Failed(address))
            {
                gate.DelayServed(address);
            }
        }
    }

    private static IPAddress Address(int n) => new([10, 0, 0, (byte)n]);

    private static (PreAuthGate Gate, ManualClock Clock, ScriptedRandom Random, LogCapture Log) Gate(Action<ExecServerOptions> configure)
    {
        var options = new ExecServerOptions();
        configure(options);
        var clock = new ManualClock();
        var random = new ScriptedRandom();
        var log = new LogCapture();
        return (new PreAuthGate(options, clock, random, log.CreateLogger("exec")), clock, random, log);
    }

    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private sealed class ScriptedRandom : Random
    {
        public int Draw { get; set; } = 99;

        public override int Next(int maxValue) => Draw;
    }
}
