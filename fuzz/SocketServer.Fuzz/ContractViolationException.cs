using System.Runtime.CompilerServices;
using System.Text;

namespace SocketServer.Fuzz;

/// <summary>
/// A parser broke its contract on an input: it returned something its documentation rules out. A
/// target throws it, and any exception the contract does not allow, so afl-fuzz records a crash.
/// </summary>
public sealed class ContractViolationException : Exception
{
    /// <summary>Creates the exception for a broken promise, said in words.</summary>
    public ContractViolationException(string message) : base(message) { }

    /// <summary>Creates the exception with the error the parser threw where it should not have.</summary>
    public ContractViolationException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public ContractViolationException() { }

    /// <summary>Throws unless <paramref name="condition"/> holds.</summary>
    public static void Require(bool condition, string promise)
    {
        if (!condition)
        {
            throw new ContractViolationException(promise);
        }
    }

    /// <summary>Throws unless <paramref name="condition"/> holds; the message is formatted only then, so checks cost nothing on the fuzzer's hot path.</summary>
    public static void Require(bool condition, [InterpolatedStringHandlerArgument(nameof(condition))] ref PromiseHandler promise)
    {
        if (!condition)
        {
            throw new ContractViolationException(promise.ToString());
        }
    }

    /// <summary>Builds a <see cref="Require(bool, ref PromiseHandler)"/> message only when the condition failed.</summary>
    [InterpolatedStringHandler]
    public ref struct PromiseHandler
    {
        private readonly StringBuilder? _text;

        /// <summary>Called by the compiler: formats nothing when <paramref name="condition"/> holds.</summary>
        public PromiseHandler(int literalLength, int formattedCount, bool condition, out bool shouldAppend)
        {
            _ = formattedCount;
            _text = condition ? null : new StringBuilder(literalLength);
            shouldAppend = !condition;
        }

        /// <summary>Called by the compiler for the literal parts.</summary>
        public readonly void AppendLiteral(string value) => _text?.Append(value);

        /// <summary>Called by the compiler for the holes.</summary>
        public readonly void AppendFormatted<T>(T value) => _text?.Append(value);

        /// <summary>Called by the compiler for the holes with a format (<c>{x:X2}</c>).</summary>
        public readonly void AppendFormatted<T>(T value, string? format)
            where T : IFormattable => _text?.Append(value.ToString(format, System.Globalization.CultureInfo.InvariantCulture));

        /// <inheritdoc />
        public override readonly string ToString() => _text?.ToString() ?? string.Empty;
    }
}
