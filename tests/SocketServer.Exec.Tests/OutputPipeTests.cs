using System.IO.Pipes;
using SocketServer.Exec.Internal;

namespace SocketServer.Exec.Tests;

/// <summary>Where a command's own output ends in its pipe, on real pipes (pipe(2)), without processes.</summary>
public sealed class OutputPipeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_mark_is_passed_once_what_the_pipe_held_is_read_and_later_bytes_do_not_move_it()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        await using var pipe = new OutputPipe(new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle));
        await writer.WriteAsync(new byte[10], Ct);
        await pipe.ReadExactlyAsync(new byte[3], Ct);

        // Three read, seven in the pipe: the command's output ends seven bytes on.
        var mark = pipe.MarkCommandEnd();
        Assert.False(mark.IsCompleted);

        // What a process outside the group writes afterwards is not waited for.
        await writer.WriteAsync(new byte[100], Ct);
        await pipe.ReadExactlyAsync(new byte[6], Ct);
        Assert.False(mark.IsCompleted);
        _ = await pipe.ReadAsync(new byte[1], Ct);
        await mark.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }

    [Fact]
    public async Task An_empty_pipe_is_past_the_mark_at_once_even_with_a_read_waiting_on_it()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        await using var pipe = new OutputPipe(new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle));
        var waiting = pipe.ReadAsync(new byte[16], Ct).AsTask();
        Assert.True(pipe.MarkCommandEnd().IsCompleted);

        // The read still gets what comes later (a daemon's bytes), counted as the reader's.
        await writer.WriteAsync(new byte[4], Ct);
        Assert.Equal(4, await waiting.WaitAsync(TimeSpan.FromSeconds(10), Ct));
    }

    [Fact]
    public async Task A_pipe_disposed_before_the_mark_is_passed_is_done_with()
    {
        using var writer = new AnonymousPipeServerStream(PipeDirection.Out);
        var pipe = new OutputPipe(new AnonymousPipeClientStream(PipeDirection.In, writer.ClientSafePipeHandle));
        await writer.WriteAsync(new byte[8], Ct);
        var mark = pipe.MarkCommandEnd();
        Assert.False(mark.IsCompleted);
        await pipe.DisposeAsync();
        await mark.WaitAsync(TimeSpan.FromSeconds(10), Ct);
    }
}
