using Microsoft.EntityFrameworkCore;

namespace VivoKey.Simulator.Infrastructure;

/// <summary>
/// Holds OpenIddict's applications, authorizations and tokens. The simulator is a development
/// tool, so this lives in memory and is gone when the process ends.
/// </summary>
public sealed class SimulatorDbContext(DbContextOptions<SimulatorDbContext> options) : DbContext(options);
