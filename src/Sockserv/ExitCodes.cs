namespace Sockserv;

/// <summary>The tool's exit codes, as shared/DESIGN.md fixes them.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int RuntimeError = 1;
    public const int UsageError = 2;
}
