using Pulumi;
using Workstation.Components;

// Thin on purpose: WorkstationProgram checks the config, the roster and host/ before it
// registers anything, then WorkstationStack builds the resources (the tests call both).
return await Deployment.RunAsync(() => WorkstationProgram.Run(new PulumiStackConfig(new Config())));
