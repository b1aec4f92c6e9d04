// Login time of SqliteFtpUserStore, with and without the password cache, at the real cost (PBKDF2-HMAC-SHA256,
// 600,000 iterations), on a store file in a temporary directory. Prints a Markdown table for docs/benchmarks.md.
//
//   dotnet run -c Release --project bench/ftp/FtpUserBench [-- --quick]
//
// --quick: fewer repetitions, for a look rather than figures.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using SocketServer.Ftp;

var quick = args.Contains("--quick");
var slowRounds = quick ? 3 : 15;
var fastRounds = quick ? 500 : 20_000;
var burst = quick ? 60 : 300;

var directory = Directory.CreateTempSubdirectory("ftp-user-bench-");
try
{
    var rows = new List<string[]>();
    var state = directory.FullName;
    SqliteFtpUserStoreOptions Options(int cache) => new() { PasswordCacheSize = cache };

    // One real user, then 299 more rows with a copy of its hash (same cost to verify; adding 300 users the
    // ordinary way would spend a minute and a half hashing before the first measurement).
    await using (var seed = await SqliteFtpUserStore.OpenAsync(state, Options(0)))
    {
        await seed.AddUserAsync("user0", "bench password", new FtpUserSettings { Home = Path.Combine(state, "home") });
    }

    using (var connection = new SqliteConnection($"Data Source={Path.Combine(state, SqliteFtpUserStore.FileName)};Pooling=False"))
    {
        connection.Open();
        using var copy = connection.CreateCommand();
        copy.CommandText = """
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 299)
            INSERT INTO users (name, password_hash, home, version, created_at, updated_at)
            SELECT 'user' || i, password_hash, home, 1000 + i, created_at, updated_at FROM users, n WHERE name = 'user0'
            """;
        copy.ExecuteNonQuery();
    }

    Console.WriteLine($"# {Environment.ProcessorCount} cores, {RuntimeInformationText()}, PBKDF2 iterations {SqliteFtpUserStoreOptions.MinimumPbkdf2Iterations:N0}, load average at start {LoadAverage()}");
    Console.WriteLine();

    await using (var noCache = await SqliteFtpUserStore.OpenAsync(state, Options(0)))
    {
        rows.Add(await Sequential("one login, no cache (every login hashes)", noCache, "user0", "bench password", slowRounds));
        rows.Add(await Sequential("wrong password", noCache, "user0", "wrong password", slowRounds));
        rows.Add(await Sequential("unknown user (dummy hash)", noCache, "nobody", "bench password", slowRounds));
    }

    await using (var cached = await SqliteFtpUserStore.OpenAsync(state, Options(1_000)))
    {
        await cached.LoginAsync("user0", "bench password");
        rows.Add(await Sequential("one login, cache hit", cached, "user0", "bench password", fastRounds));
    }

    await using (var cold = await SqliteFtpUserStore.OpenAsync(state, Options(1_000)))
    {
        rows.Add(await Burst($"{burst} logins at once, {burst} users, cache cold", cold, i => $"user{i}", burst));
        rows.Add(await Burst($"{burst} logins at once, {burst} users, cache warm", cold, i => $"user{i}", burst));
    }

    await using (var oneUser = await SqliteFtpUserStore.OpenAsync(state, Options(1_000)))
    {
        rows.Add(await Burst($"{burst} logins at once, one user, cache cold", oneUser, _ => "user0", burst));
    }

    // Hashes run the naive way, one Task.Run each on the thread pool, for the ping column (a third as many: the
    // pool is as full after 100 as after 300, and each costs what a login's does).
    rows.Add(await NaiveBurst($"{burst / 3} PBKDF2 on the thread pool (naive, for comparison)", burst / 3));

    Console.WriteLine("| case | logins | median per login | CPU per login | wall, all | pool ping, worst |");
    Console.WriteLine("|---|---|---|---|---|---|");
    foreach (var row in rows)
    {
        Console.WriteLine($"| {string.Join(" | ", row)} |");
    }

    Console.WriteLine();
    Console.WriteLine($"# load average at end {LoadAverage()}");
}
finally
{
    SqliteConnection.ClearAllPools();
    directory.Delete(recursive: true);
}

// One login after another: the median of each login's time, and the process's CPU time per login.
static async Task<string[]> Sequential(string name, SqliteFtpUserStore store, string user, string password, int rounds)
{
    await store.LoginAsync(user, password);
    var times = new double[rounds];
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    var all = Stopwatch.StartNew();
    for (var i = 0; i < rounds; i++)
    {
        var one = Stopwatch.StartNew();
        await store.LoginAsync(user, password);
        times[i] = one.Elapsed.TotalMilliseconds;
    }

    var wall = all.Elapsed;
    var cpuPer = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / rounds;
    Array.Sort(times);
    return [name, rounds.ToString(CultureInfo.InvariantCulture), Millis(times[rounds / 2]), Millis(cpuPer), Seconds(wall), "-"];
}

// All logins started at once; a ping on the thread pool every 10 ms says how long a work item waited meanwhile.
static async Task<string[]> Burst(string name, SqliteFtpUserStore store, Func<int, string> user, int count)
{
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    using var ping = new Pinger();
    var all = Stopwatch.StartNew();
    var logins = new Task<TimeSpan>[count];
    for (var i = 0; i < count; i++)
    {
        var login = user(i);
        logins[i] = Task.Run(async () =>
        {
            var one = Stopwatch.StartNew();
            var result = await store.LoginAsync(login, "bench password");
            return result.Status == FtpLoginStatus.Succeeded ? one.Elapsed : throw new InvalidOperationException($"{login}: {result.Status}");
        });
    }

    var times = (await Task.WhenAll(logins)).Select(t => t.TotalMilliseconds).Order().ToArray();
    var wall = all.Elapsed;
    var worst = await ping.StopAsync();
    var cpuPer = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / count;
    return [name, count.ToString(CultureInfo.InvariantCulture), Millis(times[count / 2]), Millis(cpuPer), Seconds(wall), Millis(worst)];
}

static async Task<string[]> NaiveBurst(string name, int count)
{
    var salt = RandomNumberGenerator.GetBytes(16);
    var cpu = Process.GetCurrentProcess().TotalProcessorTime;
    using var ping = new Pinger();
    var all = Stopwatch.StartNew();
    var work = Enumerable.Range(0, count).Select(_ => Task.Run(() =>
    {
        var one = Stopwatch.StartNew();
        Rfc2898DeriveBytes.Pbkdf2("bench password"u8, salt, SqliteFtpUserStoreOptions.MinimumPbkdf2Iterations, HashAlgorithmName.SHA256, 32);
        return one.Elapsed;
    })).ToArray();
    var times = (await Task.WhenAll(work)).Select(t => t.TotalMilliseconds).Order().ToArray();
    var wall = all.Elapsed;
    var worst = await ping.StopAsync();
    var cpuPer = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / count;
    return [name, count.ToString(CultureInfo.InvariantCulture), Millis(times[count / 2]), Millis(cpuPer), Seconds(wall), Millis(worst)];
}

static string Millis(double ms) => ms >= 100
    ? string.Create(CultureInfo.InvariantCulture, $"{ms:0} ms")
    : ms >= 1 ? string.Create(CultureInfo.InvariantCulture, $"{ms:0.0} ms") : string.Create(CultureInfo.InvariantCulture, $"{ms * 1000:0} µs");

static string Seconds(TimeSpan t) => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.00} s");

static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

static string RuntimeInformationText() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

/// <summary>Queues a work item on the thread pool every 10 ms and records the longest wait before one ran.</summary>
internal sealed class Pinger : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task<double> _loop;

    public Pinger() => _loop = Task.Factory.StartNew(Loop, TaskCreationOptions.LongRunning);

    public async Task<double> StopAsync()
    {
        await _stop.CancelAsync();
        return await _loop;
    }

    public void Dispose() => _stop.Dispose();

    // Synchronous on a thread of its own, so the pinger itself never occupies a pool thread.
    private double Loop()
    {
        var worst = 0.0;
        while (!_stop.IsCancellationRequested)
        {
            var queued = Stopwatch.StartNew();
            var ran = Task.Run(() => queued.Elapsed.TotalMilliseconds).GetAwaiter().GetResult();
            worst = Math.Max(worst, ran);
            // A dedicated thread sleeps between pings: the pause is the measurement's period, not a synchronisation.
            Thread.Sleep(10);
        }

        return worst;
    }
}
