using Workstation.Roster.Access;

namespace Workstation.Roster.Tests;

public class AccessExternalBindingTests
{
    private static readonly ExternalBindingExpectation Expected =
        Assert.Single(K8sAccess.For(AccessFixtures.User("dora"), AccessFixtures.K8s()).ExternalBindings);

    private static readonly K8sSubject Dora = new("User", "dora@example.test");

    private static ObservedBinding Read(string roleKind = "ClusterRole", string role = "admin", string ns = "plotting-book", params K8sSubject[] subjects) =>
        new("oidc-ns-owner-dora", ns, roleKind, role, subjects.Length == 0 ? [Dora] : subjects);

    [Fact]
    public void MatchingBindingPasses() => Assert.Null(ExternalBindingCheck.Check(Expected, Read()));

    [Fact]
    public void OtherSubjectsBesideTheUserAreFine() =>
        Assert.Null(ExternalBindingCheck.Check(Expected, Read(subjects: [new("Group", "team"), Dora, new("User", "x@example.test")])));

    [Fact]
    public void WrongClusterRoleIsNamed() => Assert.Equal(
        "dora/plotting-book: RoleBinding oidc-ns-owner-dora binds ClusterRole 'view', expected 'admin'",
        ExternalBindingCheck.Check(Expected, Read(role: "view")));

    [Fact]
    public void NamespacedRoleOfTheSameNameIsNotTheClusterRole() => Assert.Equal(
        "dora/plotting-book: RoleBinding oidc-ns-owner-dora binds Role 'admin', expected ClusterRole 'admin'",
        ExternalBindingCheck.Check(Expected, Read(roleKind: "Role")));

    [Fact]
    public void MissingUserIsNamed() => Assert.Equal(
        "dora/plotting-book: RoleBinding oidc-ns-owner-dora does not bind User 'dora@example.test' (it binds User 'someone@example.test')",
        ExternalBindingCheck.Check(Expected, Read(subjects: [new("User", "someone@example.test")])));

    [Theory]
    [InlineData("Group", "dora@example.test")]
    [InlineData("ServiceAccount", "dora@example.test")]
    [InlineData("User", "Dora@example.test")]
    [InlineData("User", "dora")]
    [InlineData("User", "oidc:dora@example.test")]
    public void ANearMissIsNotTheUser(string kind, string name) =>
        Assert.Equal(
            $"dora/plotting-book: RoleBinding oidc-ns-owner-dora does not bind User 'dora@example.test' (it binds {kind} '{name}')",
            ExternalBindingCheck.Check(Expected, Read(subjects: [new(kind, name)])));

    [Fact]
    public void NoSubjectsAtAll() => Assert.Equal(
        "dora/plotting-book: RoleBinding oidc-ns-owner-dora does not bind User 'dora@example.test' (it binds no subjects)",
        ExternalBindingCheck.Check(Expected, Read() with { Subjects = [] }));

    [Fact]
    public void EveryProblemIsReportedInOneLine() => Assert.Equal(
        "dora/plotting-book: RoleBinding oidc-ns-owner-dora is in namespace 'other', expected 'plotting-book', " +
        "and binds ClusterRole 'edit', expected 'admin', and does not bind User 'dora@example.test' (it binds no subjects)",
        ExternalBindingCheck.Check(Expected, Read(role: "edit", ns: "other") with { Subjects = [] }));

    [Fact]
    public void TheExpectationCarriesTheRosterName()
    {
        Assert.Equal("oidc-ns-owner-dora", Expected.BindingName);
        Assert.Equal("plotting-book/oidc-ns-owner-dora", Expected.Id);
    }

    [Fact]
    public void ABindingOfAnotherNameIsNotTheOneTheRosterNames() => Assert.Equal(
        "dora/plotting-book: RoleBinding other-binding is not the one external_bindings names ('oidc-ns-owner-dora')",
        ExternalBindingCheck.Check(Expected, Read() with { Name = "other-binding" }));

    [Fact]
    public void AbsentBindingFails()
    {
        var error = ExternalBindingCheck.Check(Expected, null);
        Assert.NotNull(error);
        Assert.StartsWith("dora/plotting-book: no RoleBinding 'oidc-ns-owner-dora' found", error, StringComparison.Ordinal);
        Assert.Contains("User 'dora@example.test'", error, StringComparison.Ordinal);
    }
}
