namespace Host.Tests;

/// <summary>
/// A host test class: <see cref="Bounded"/> is how long any one of its box commands may take
/// (the ssh call gives up then and the test fails naming the command), stated once on the class.
/// </summary>
public abstract class BoxTests(TimeSpan bounded)
{
    protected TimeSpan Bounded { get; } = bounded;
}
