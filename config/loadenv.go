package config

// LoadEnv is Load with ${VAR} read through lookupEnv instead of the
// process environment: `gatehouse import` validates a config whose new
// variables are not set yet.
func LoadEnv(path string, lookupEnv func(string) (string, bool)) (*Config, error) {
	return load(path, lookupEnv)
}
