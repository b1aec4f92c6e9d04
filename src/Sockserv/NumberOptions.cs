using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Sockserv;

/// <summary>
/// Numeric options that parse and check their value in one step. A separate validator would run
/// after a failed conversion too and ask for a value the parser never produced, which throws
/// (issue 13: <c>--port abc</c> ended in a stack trace); here a bad value is one usage error.
/// </summary>
internal static class NumberOptions
{
    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/>.</summary>
    public static Option<int> Integer(string name, string description, int defaultValue, int min, int max, string helpName = "N", params string[] aliases)
    {
        var option = new Option<int>(name, aliases)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
        };
        option.CustomParser = result =>
        {
            var text = LastToken(result);
            if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
            {
                return value;
            }

            result.AddError($"{name} takes a whole number from {min} to {max}, not '{text}'.");
            return defaultValue;
        };
        return option;
    }

    /// <summary>A number of seconds, more than 0 (or at least 0 when <paramref name="zeroAllowed"/>) and at most <paramref name="max"/>.</summary>
    public static Option<double> Seconds(string name, string description, double defaultValue, double max, bool zeroAllowed)
    {
        var option = new Option<double>(name)
        {
            Description = description,
            HelpName = "SECONDS",
            DefaultValueFactory = _ => defaultValue,
        };
        option.CustomParser = result => ParseSeconds(result, name, max, zeroAllowed) ?? defaultValue;
        return option;
    }

    /// <summary>A number of seconds more than 0 and at most <paramref name="max"/>, or nothing when the option is absent.</summary>
    public static Option<double?> OptionalSeconds(string name, string description, double max)
    {
        var option = new Option<double?>(name)
        {
            Description = description,
            HelpName = "SECONDS",
        };
        option.CustomParser = result => ParseSeconds(result, name, max, zeroAllowed: false);
        return option;
    }

    /// <summary>
    /// A value of several fields (<c>16:30:64</c>) that <paramref name="parse"/> reads, or returns null
    /// for; the usage error then says the value takes <paramref name="expected"/>.
    /// </summary>
    public static Option<T> Fields<T>(string name, string description, string helpName, T defaultValue, Func<string, T?> parse, string expected)
        where T : class
    {
        var option = new Option<T>(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
        };
        option.CustomParser = result =>
        {
            var text = LastToken(result);
            if (parse(text) is { } value)
            {
                return value;
            }

            result.AddError($"{name} takes {expected}, not '{text}'.");
            return defaultValue;
        };
        return option;
    }

    /// <summary>A whole number from <paramref name="min"/> to <paramref name="max"/> as one field of a value, or null.</summary>
    public static int? Field(string text, int min, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max ? value : null;

    /// <summary>A number of seconds more than 0 and at most <paramref name="max"/> as one field of a value, or null.</summary>
    public static double? SecondsField(string text, double max) =>
        TrySeconds(text, max, zeroAllowed: false, out var value) ? value : null;

    private static bool TrySeconds(string text, double max, bool zeroAllowed, out double value) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value) && (zeroAllowed ? value >= 0 : value > 0) && value <= max;

    private static double? ParseSeconds(ArgumentResult result, string name, double max, bool zeroAllowed)
    {
        var text = LastToken(result);
        if (TrySeconds(text, max, zeroAllowed, out var value))
        {
            return value;
        }

        var least = zeroAllowed ? "from 0" : "more than 0 and";
        result.AddError($"{name} takes a number of seconds {least} up to {max.ToString(CultureInfo.InvariantCulture)}, not '{text}'.");
        return null;
    }

    // "--port 1 --port 2" means 2, as it does for the parser's own types.
    private static string LastToken(ArgumentResult result) => result.Tokens.Count == 0 ? string.Empty : result.Tokens[^1].Value;

    /// <summary>
    /// A limit: a whole number from 0 to <see cref="long.MaxValue"/>, or <c>none</c> for no limit (null). With
    /// <paramref name="sizeSuffixes"/>, K, M, G or T after the number multiply it by 1024 to the first to fourth power.
    /// Absent, the value is no limit too: a command that must tell "absent" from "none" asks the parse result whether the option was given.
    /// </summary>
    public static Option<LimitValue> Limit(string name, string description, bool sizeSuffixes)
    {
        var option = new Option<LimitValue>(name)
        {
            Description = description,
            HelpName = "N",
        };
        option.CustomParser = result =>
        {
            var text = LastToken(result);
            if (text == "none")
            {
                return default;
            }

            var digits = text;
            var scale = 1L;
            if (sizeSuffixes && text.Length > 1 && "KMGT".IndexOf(char.ToUpperInvariant(text[^1]), StringComparison.Ordinal) is >= 0 and var power)
            {
                digits = text[..^1];
                scale = 1L << (10 * (power + 1));
            }

            if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= long.MaxValue / scale)
            {
                return new LimitValue(value * scale);
            }

            var units = sizeSuffixes ? " (a K, M, G or T after it counts in KiB, MiB, GiB, TiB)" : string.Empty;
            result.AddError($"{name} takes a whole number from 0 to {long.MaxValue}{units}, or 'none', not '{text}'.");
            return default;
        };
        return option;
    }

    /// <summary>What <see cref="Limit(string, string, bool)"/> parses: a value, or null for no limit.</summary>
    /// <remarks>A struct of its own: the parser cannot hand back a null <c>long?</c> (System.CommandLine 2.0 fails to cast it).</remarks>
    public readonly record struct LimitValue(long? Value);
}
