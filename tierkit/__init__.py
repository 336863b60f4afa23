"""tierkit: customer tiering and differentiated service."""
