using System.CommandLine;
using Sockserv;

var root = new RootCommand("sockserv: Python's socketserver programs on .NET — an echo server and its client, and a remote command service.");
root.Subcommands.Add(EchoCommand.Create());
root.Subcommands.Add(ConnectCommand.Create());
root.Subcommands.Add(ExecCommand.Create());
return await Cli.RunAsync(root, args);
