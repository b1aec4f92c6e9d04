using System.Text;

namespace Sockserv;

/// <summary>A password typed at the terminal with nothing shown: <c>ftp user add</c>'s and the FTP client's prompt.</summary>
internal static class SecretPrompt
{
    /// <summary>
    /// Writes <paramref name="prompt"/> on stderr (stdout stays clean when redirected) and reads one line at the
    /// terminal, showing nothing of it (Console.ReadKey with intercept: the terminal's echo is off).
    /// </summary>
    /// <returns>The line, or null for Ctrl+D on an empty line, as a shell takes it: no password.</returns>
    public static string? Read(string prompt)
    {
        Console.Error.Write(prompt);
        var typed = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter || key.KeyChar is '\r' or '\n')
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace || key.KeyChar == '\u007f')
            {
                typed.Length = Math.Max(0, typed.Length - 1);
            }
            else if (key.KeyChar == '\u0004' && typed.Length == 0)
            {
                Console.Error.WriteLine();
                return null;
            }
            else if (key.KeyChar != '\0' && !char.IsControl(key.KeyChar))
            {
                typed.Append(key.KeyChar);
            }
        }

        Console.Error.WriteLine();
        return typed.ToString();
    }
}
