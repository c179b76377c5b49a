"""Jobs and proposals: what a client asks for and what freelancers offer."""
