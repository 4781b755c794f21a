"""AWS components. Import the component modules you need; nothing is re-exported."""
