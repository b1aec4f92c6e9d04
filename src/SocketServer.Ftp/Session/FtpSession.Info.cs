using System.Globalization;
using System.Text;
using SocketServer.Ftp.Protocol;

namespace SocketServer.Ftp.Session;

// What the session tells about itself: FEAT OPTS HELP STAT, and the transfer parameters TYPE MODE STRU.
internal sealed partial class FtpSession
{
    private MlsxFacts _facts = MlsxFacts.All;

    /// <summary>MLST's FEAT fact list, this session's selection starred.</summary>
    internal string FeatFacts => Listing.FeatFacts(_facts);

    internal Task FeatAsync(CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        foreach (var name in CommandTable.Names)
        {
            if (CommandTable.Commands[name].Feature?.Invoke(this) is { } feature)
            {
                lines.Add(" " + feature);
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return _control.ReplyAsync(211, "Features:", lines, "End", cancellationToken);
    }

    internal async Task OptsAsync(string argument, CancellationToken cancellationToken)
    {
        var space = argument.IndexOf(' ', StringComparison.Ordinal);
        var name = (space < 0 ? argument : argument[..space]).ToUpperInvariant();
        var value = space < 0 ? string.Empty : argument[(space + 1)..].Trim();
        switch (name)
        {
            case "UTF8" or "UTF-8" when value.Equals("ON", StringComparison.OrdinalIgnoreCase) || value.Length == 0:
                // Paths are always UTF-8 here (RFC 2640); Windows Explorer needs the success to send them so.
                await ReplyAsync(200, "UTF-8 is always on.", cancellationToken).ConfigureAwait(false);
                break;
            case "UTF8" or "UTF-8":
                await ReplyAsync(504, "UTF-8 cannot be turned off.", cancellationToken).ConfigureAwait(false);
                break;
            case "MLST":
                _facts = Listing.ParseFacts(value, out var selected);
                await ReplyAsync(200, $"MLST OPTS {selected}", cancellationToken).ConfigureAwait(false);
                break;
            case "HASH" when value.Length == 0:
                await ReplyAsync(200, HashKinds.Name(_hashKind), cancellationToken).ConfigureAwait(false);
                break;
            case "HASH" when HashKinds.TryParse(value, out var kind):
                _hashKind = kind;
                await ReplyAsync(200, HashKinds.Name(kind), cancellationToken).ConfigureAwait(false);
                break;
            case "HASH":
                await ReplyAsync(501, "Unknown algorithm; the selection is unchanged.", cancellationToken).ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(501, "Unknown option.", cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    internal async Task HelpAsync(string argument, CancellationToken cancellationToken)
    {
        if (argument.Length > 0)
        {
            var verb = argument.Trim().ToUpperInvariant();
            if (CommandTable.Commands.TryGetValue(verb, out var spec))
            {
                await ReplyAsync(214, $"Syntax: {spec.Help}", cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await ReplyAsync(501, "Unknown command.", cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var lines = new List<string>();
        for (var i = 0; i < CommandTable.Names.Length; i += 8)
        {
            var row = new StringBuilder(" ");
            foreach (var name in CommandTable.Names.Skip(i).Take(8))
            {
                row.Append(CultureInfo.InvariantCulture, $"{name,-8}");
            }

            lines.Add(row.ToString().TrimEnd());
        }

        await _control.ReplyAsync(214, "The following commands are recognized:", lines, "Help OK.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task StatAsync(string argument, CancellationToken cancellationToken)
    {
        if (_transfer is { Task.IsCompleted: false } transfer)
        {
            await ReplyAsync(213, string.Create(CultureInfo.InvariantCulture, $"Status: {transfer.Kind} {transfer.Path}, {transfer.Bytes} bytes so far."), cancellationToken).ConfigureAwait(false);
            return;
        }

        if (argument.Length == 0)
        {
            var lines = new List<string>
            {
                $"Connected from {_client}",
                _user is { } user ? $"Logged in as {user.Name}{(user.ReadOnly ? " (read-only)" : string.Empty)}" : "Not logged in",
                $"TYPE: {(_type == TransferType.Ascii ? "ASCII" : "BINARY")}; STRUcture: File; transfer MODE: Stream",
                _data.IsReady ? (_data.IsPassive ? "Data connection: passive, waiting" : "Data connection: active") : "No data connection",
            };
            if (TlsOffered)
            {
                lines.Add(Tls is { } tls ? $"Control connection: TLS ({tls}); data connections: {(_protectData ? "TLS (PROT P)" : "plain (PROT C)")}" : "Control connection: plain (AUTH TLS secures it)");
            }

            await _control.ReplyAsync(211, "FTP server status:", lines, "End of status.", cancellationToken).ConfigureAwait(false);
            return;
        }

        if (_user is null)
        {
            await ReplyAsync(530, "Log in with USER and PASS first.", cancellationToken).ConfigureAwait(false);
            return;
        }

        // STAT path: a LIST on the control connection (RFC 959 §4.1.3).
        if (await ResolveAsync(Listing.StripOptions(argument)).ConfigureAwait(false) is not { } path)
        {
            return;
        }

        var text = await LongListingAsync(path, cancellationToken).ConfigureAwait(false);
        var entries = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        await _control.ReplyAsync(213, $"Status of {path}:", entries, "End of status.", cancellationToken).ConfigureAwait(false);
    }

    internal async Task TypeAsync(string argument, CancellationToken cancellationToken)
    {
        switch (Arguments.ParseType(argument))
        {
            case TransferType.Ascii:
                _type = TransferType.Ascii;
                await ReplyAsync(200, "Type set to A.", cancellationToken).ConfigureAwait(false);
                break;
            case TransferType.Image:
                _type = TransferType.Image;
                await ReplyAsync(200, "Type set to I.", cancellationToken).ConfigureAwait(false);
                break;
            default:
                await ReplyAsync(504, "Only TYPE A, I and L 8 are supported.", cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    internal Task ModeAsync(string argument, CancellationToken cancellationToken) =>
        argument.Trim().Equals("S", StringComparison.OrdinalIgnoreCase)
            ? ReplyAsync(200, "Mode set to S.", cancellationToken)
            : ReplyAsync(504, "Only MODE S (stream) is supported.", cancellationToken);

    internal Task StruAsync(string argument, CancellationToken cancellationToken) =>
        argument.Trim().Equals("F", StringComparison.OrdinalIgnoreCase)
            ? ReplyAsync(200, "Structure set to F.", cancellationToken)
            : ReplyAsync(504, "Only STRU F (file) is supported.", cancellationToken);
}
