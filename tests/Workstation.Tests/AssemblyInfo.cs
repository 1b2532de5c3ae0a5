// Pulumi's test deployment is process-global (Deployment.Instance): one test at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The program manages a Linux host and the tests set Unix file modes.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
