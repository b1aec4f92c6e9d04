using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Sockserv;

/// <summary>A password typed at the terminal with nothing shown: <c>ftp user add</c>'s and the FTP client's prompt.</summary>
internal static partial class SecretPrompt
{
    /// <summary>
    /// Writes <paramref name="prompt"/> on stderr (stdout stays clean when redirected) and reads one line at the
    /// terminal, showing nothing of it.
    /// </summary>
    /// <returns>The line, or null for Ctrl+D on an empty line, as a shell takes it: no password.</returns>
    /// <remarks>
    /// On Linux the terminal's echo is turned off (termios) for the line alone and the line is read from
    /// descriptor 0 as the terminal's line discipline edits it. Console.ReadKey, used elsewhere, leaves the
    /// terminal without echo and out of canonical mode until the process exits, which a program that reads
    /// lines from the terminal afterwards (<c>ftp shell</c>) cannot have: its lines would never end.
    /// </remarks>
    public static string? Read(string prompt)
    {
        Console.Error.Write(prompt);
        var line = OperatingSystem.IsLinux() && TryReadWithoutEcho(out var read) ? read : ReadKeys();
        Console.Error.WriteLine();
        return line;
    }

    private static string? ReadKeys()
    {
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter || key.KeyChar is '\r' or '\n')
            {
                return typed.ToString();
            }

            if (key.Key == ConsoleKey.Backspace || key.KeyChar == '\u007f')
            {
                typed.Length = Math.Max(0, typed.Length - 1);
            }
            else if (key.KeyChar == '\u0004' && typed.Length == 0)
            {
                return null;
            }
            else if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }
    }

    // Linux's struct termios: c_iflag, c_oflag, c_cflag, c_lflag (4 bytes each), c_line, c_cc[32], c_ispeed, c_ospeed.
    private const int TermiosSize = 60;
    private const int LocalFlagsOffset = 12;
    private const uint Echo = 0x8;
    private const int SetNow = 0;

    private static bool TryReadWithoutEcho(out string? line)
    {
        line = null;
        var saved = new byte[TermiosSize];
        if (GetAttributes(0, saved) != 0)
        {
            return false;
        }

        var quiet = (byte[])saved.Clone();
        BitConverter.TryWriteBytes(quiet.AsSpan(LocalFlagsOffset), BitConverter.ToUInt32(saved, LocalFlagsOffset) & ~Echo);
        if (SetAttributes(0, SetNow, quiet) != 0)
        {
            return false;
        }

        // Ctrl+C at the prompt ends the process as it would anyway, but with the echo back on.
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            _ = SetAttributes(0, SetNow, saved);
            Console.Error.WriteLine();
            Environment.Exit(ExitCodes.RuntimeError);
        });
        try
        {
            // A byte at a time: nothing after the line end is taken from what the next reader of stdin gets.
            using var stdin = new FileStream(new SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0);
            var bytes = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                if (stdin.Read(one, 0, 1) == 0)
                {
                    line = bytes.Count == 0 ? null : Encoding.UTF8.GetString(bytes.ToArray());
                    return true;
                }

                if (one[0] == (byte)'\n')
                {
                    line = Encoding.UTF8.GetString(bytes.ToArray()).TrimEnd('\r');
                    return true;
                }

                bytes.Add(one[0]);
            }
        }
        finally
        {
            _ = SetAttributes(0, SetNow, saved);
        }
    }

    [LibraryImport("libc", EntryPoint = "tcgetattr", SetLastError = true)]
    private static partial int GetAttributes(int descriptor, [Out] byte[] termios);

    [LibraryImport("libc", EntryPoint = "tcsetattr", SetLastError = true)]
    private static partial int SetAttributes(int descriptor, int when, [In] byte[] termios);
}
