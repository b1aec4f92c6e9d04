using System.CommandLine;
using Sockserv;

var root = new RootCommand("sockserv: Python's socketserver programs on .NET — an echo server and its client, and a remote command service.");
root.Subcommands.Add(EchoCommand.Create());
root.Subcommands.Add(ConnectCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
// Issue 16: a stand-in for the ftp command until its serve part is merged (which hangs user and quota under its own).
root.Subcommands.Add(new Command("ftp", "The FTP/FTPS server's users and their quotas.") { Subcommands = { FtpUserCommands.User(), FtpUserCommands.Quota() } });
return await Cli.RunAsync(root, args);
