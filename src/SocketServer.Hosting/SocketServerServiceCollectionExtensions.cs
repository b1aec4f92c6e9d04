using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SocketServer.Hosting.Internal;

namespace SocketServer.Hosting;

/// <summary>
/// <c>services.AddSocketServer&lt;THandler&gt;(...)</c>: a server as a hosted service, in the style of
/// <c>AddHostedService</c>. Call it once per server; each has a name of its own.
/// </summary>
public static class SocketServerServiceCollectionExtensions
{
    /// <summary>The name a server registered without one gets when its configuration is not a section.</summary>
    public const string DefaultName = "SocketServer";

    /// <summary>
    /// Runs a server whose options bind from <paramref name="configuration"/> (a section such as
    /// <c>builder.Configuration.GetSection("SocketServer")</c>), named after the section's path.
    /// </summary>
    /// <inheritdoc cref="AddSocketServer{THandler}(IServiceCollection, string, IConfiguration?, Action{HostedServerOptions}?)"/>
    public static IServiceCollection AddSocketServer<THandler>(this IServiceCollection services, IConfiguration configuration, Action<HostedServerOptions>? configure = null)
        where THandler : RequestHandler
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddSocketServer<THandler>((configuration as IConfigurationSection)?.Path ?? DefaultName, configuration, configure);
    }

    /// <summary>Runs a server named <paramref name="name"/> whose options are set in code only.</summary>
    /// <inheritdoc cref="AddSocketServer{THandler}(IServiceCollection, string, IConfiguration?, Action{HostedServerOptions}?)"/>
    public static IServiceCollection AddSocketServer<THandler>(this IServiceCollection services, string name, Action<HostedServerOptions> configure)
        where THandler : RequestHandler
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddSocketServer<THandler>(name, null, configure);
    }

    /// <summary>
    /// Runs a server named <paramref name="name"/> as a hosted service: a new <typeparamref name="THandler"/> serves
    /// each request, its constructor's parameters taken from the container, in a DI scope of the request's own.
    /// Its options (<see cref="HostedServerOptions"/>: the names of <c>sockserv echo</c>'s options) bind from
    /// <paramref name="configuration"/>, then <paramref name="configure"/> adjusts them; they are checked when the
    /// host starts, and a wrong or unknown key fails the start with a message naming it.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The server's name: of its options, in its log lines, and the key to resolve its <see cref="HostedServer"/> by.</param>
    /// <param name="configuration">The configuration section of its options, or null for none.</param>
    /// <param name="configure">Sets options in code, after the configuration; null for none.</param>
    /// <typeparam name="THandler">The handler class: a stream handler for TCP and Unix stream, a datagram handler for UDP and Unix datagram, async for the async and event-loop modes.</typeparam>
    /// <exception cref="InvalidOperationException">A server of that name is registered already.</exception>
    public static IServiceCollection AddSocketServer<THandler>(this IServiceCollection services, string name, IConfiguration? configuration, Action<HostedServerOptions>? configure = null)
        where THandler : RequestHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        foreach (var descriptor in services)
        {
            if (descriptor.IsKeyedService && descriptor.ServiceType == typeof(HostedServer) && Equals(descriptor.ServiceKey, name))
            {
                throw new InvalidOperationException($"A socket server named '{name}' is registered already: give each server a name of its own.");
            }
        }

        var options = services.AddOptions<HostedServerOptions>(name);
        if (configuration is not null)
        {
            // A misspelt key would otherwise be ignored, and the server would quietly serve on its defaults.
            options.Bind(configuration, binder => binder.ErrorOnUnknownConfiguration = true);
        }

        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.AddSingleton<IValidateOptions<HostedServerOptions>>(new HostedServerOptionsValidator(name, (configuration as IConfigurationSection)?.Path));
        services.AddKeyedSingleton(name, (provider, _) => new HostedServer(name, provider, RequestScope.Factory<THandler>));
        services.AddSingleton<IHostedService>(provider => provider.GetRequiredKeyedService<HostedServer>(name));
        return services;
    }
}
