package interval

// Roles an operator may have.
const (
	RoleAdmin     = "admin"
	RoleDeveloper = "developer"
	RoleMember    = "member"
)

// User is the operator running a transaction or viewing a page.
type User struct {
	Email     string
	FirstName string
	LastName  string
	// Role is RoleAdmin, RoleDeveloper or RoleMember.
	Role string
	// Teams are the slugs of the operator's teams.
	Teams []string
}

// InTeam reports whether the user belongs to the team with this slug.
func (u User) InTeam(slug string) bool {
	for _, t := range u.Teams {
		if t == slug {
			return true
		}
	}
	return false
}

// Organization is the organization the host is connected to.
type Organization struct {
	Name string
	Slug string
}
