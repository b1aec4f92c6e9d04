using System.CommandLine;
using Sockserv;

Cli.TuneThreadPool(args);

var root = new RootCommand("sockserv: Python's socketserver programs on .NET — an echo server and its client, a remote command service, and an FTP server.");
root.Subcommands.Add(EchoCommand.Create());
root.Subcommands.Add(ConnectCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
root.Subcommands.Add(FtpCommand.Create());
return await Cli.RunAsync(root, args);
